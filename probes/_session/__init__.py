"""Logged-in sessions held open for measuring: SSH and telnet shells (`shell`), web
sessions (`web`); shared by the session-expiry checks."""
