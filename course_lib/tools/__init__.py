"""The course's machinery, apart from the mathematics: it needs the Jupyter packages (the ``course`` extra).

* ``notebooks``: exercises generated from the solution notebooks, and notebook execution
  (``python -m course_lib.tools.notebooks --root DIR generate|execute``);
* ``grading``: the autograder (``python -m course_lib.tools.grading --root DIR SUBMISSIONS...``);
* ``site``: the offline course site and slides (``python -m course_lib.tools.site --root DIR``);
* ``release``: the student edition, without solutions, hidden tests or grader
  (``python -m course_lib.tools.release --root DIR DEST``).

Each takes the course folder (the one holding ``lectures/``, ``solutions/``, ``exercises/``) as
an argument. Importing this package imports none of them.
"""
