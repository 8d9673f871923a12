"""Reference tables of the sample generator (CSV, read by ``etl.sample.places``)."""
