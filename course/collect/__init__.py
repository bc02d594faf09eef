"""Collecting an LMS export (a zip of submissions) into ``submitted/``, safely.

An export holds one top-level entry per upload, named by the LMS (by default nbgrader's
documented ``LAB_STUDENT_attempt_YYYY-MM-DD-HH-MM-SS_FILE``); only that top-level name says
whose upload it is. Modules: ``timestamps`` (the attempt time in the name), ``names`` (which
member names and student ids are acceptable), ``extract`` (streamed, capped, mode-less
extraction), ``plan`` (top-level entries -> each student's newest attempt, and what was
skipped and why). ``course.nbgrader_plugin.zipcollect`` plugs them into ``nbgrader
zip_collect``, which ``course grade --zip`` runs.
"""
