"""Morphable head models behind one interface (:class:`~dejavu_cli.head.base.HeadModel`).

``load_head(name)`` returns a ready model: ``"ict"`` (default, ICT-FaceKit Light, MIT), ``"flame"``
(after ``dejavu setup flame``) or ``"test"`` (a tiny procedural head for unit tests).
"""

from dejavu_cli.head.base import HeadModel, REGION_NAMES  # noqa: F401
