"""``course grade``: a whole class graded in parallel, on this machine or a Dask cluster.

``driver`` plans the tasks and is the only writer of the gradebook (``recording``); each
``worker`` task runs the real ``nbgrader autograde`` in a child forked from a pre-loaded
``zygote``; ``files`` moves submissions and results as bytes; ``nbgrader_cmd`` runs nbgrader
commands.
"""
