"""``python -m kamrules`` is the ``kamrules`` command."""

from .cli import main

if __name__ == "__main__":
    main()
