"""Morphable head models behind one interface (:class:`~dejavu_cli.head.base.HeadModel`).

``registry.load_head(name)`` returns a ready model: ``"ict"`` (default, ICT-FaceKit Light, MIT) or
``"flame"`` (after ``dejavu setup flame``); every model is registered once in ``registry.HEADS``.
"""
