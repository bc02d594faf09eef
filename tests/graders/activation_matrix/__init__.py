"""Hidden graders of the activation_matrix lab: a test_<grade_id>.py per grade cell."""
