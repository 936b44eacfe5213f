"""Exceptions raised by the toolkit.

Errors subclass built-in exceptions so callers can catch them broadly
(``except ValueError``) or precisely (``except ValidationError``).
"""

from __future__ import annotations

__all__ = ["GisError", "ValidationError", "ConfigError", "CRSError"]


class GisError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class _Problems(GisError, ValueError):
    """An error that lists every problem found at once (one message line each)."""

    def __init__(self, problems, source=None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            msg = head + self.problems[0]
        else:
            msg = head + f"{len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(msg)


class ValidationError(_Problems):
    """An input cannot be used at all.

    Parameters
    ----------
    problems : list of str
        Every problem found, each a complete sentence naming the file,
        column and rows concerned.  All are reported at once.
    source : str, optional
        The file or table the problems belong to.
    """


class ConfigError(_Problems):
    """A configuration file or setting is wrong (names the key and why).

    Parameters
    ----------
    problems : str or list of str
        Every problem found, each ``"key.path: reason"``.  All are reported
        at once; the command line prints one line per problem.
    source : str, optional
        The settings file concerned.
    """


class CRSError(GisError, ValueError):
    """Coordinates whose reference system is missing, wrong or unrecognisable."""
