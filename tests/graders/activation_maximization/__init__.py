"""Hidden graders of the activation_maximization lab: a test_<grade_id>.py per grade cell."""
