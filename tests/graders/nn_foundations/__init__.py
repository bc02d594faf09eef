"""Hidden graders of the nn_foundations lab: a test_<grade_id>.py per grade cell."""
