"""flood: DEM conditioning, waterlogging depth, parcel exposure and flood-risk classes.

Computation only: this package never imports the web layer.
"""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
