"""``python -m pytest_tts`` runs the same command line as the ``pytest-tts`` script."""

from pytest_tts.cli import main

raise SystemExit(main())
