"""ETL: read cadastral files, clean their text and geometry, and load them through landdb."""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
