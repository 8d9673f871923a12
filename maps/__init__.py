"""maps: the interactive flood-risk and land-use maps served by the app and exported as HTML."""
