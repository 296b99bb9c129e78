"""The real-software corpus: programs nobody here wrote, each started on its own loopback
address with planted logins and a written ground truth (issue 10)."""
