"""Hidden graders of the hidden_activity lab: a test_<grade_id>.py per grade cell."""
