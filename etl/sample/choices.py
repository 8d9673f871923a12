"""What the sample can be asked for: light enough for the CLI to build its --help from."""

DEFAULT_SEED = 20250930
FORMATS = ("gpkg", "shp")
ENCODINGS = ("utf-8", "tcvn3", "vni")
FILES = ("admin_units.geojson", "waterlogging_points.csv", "flood_events.csv", "rainfall.csv", "dem.tif",
         "README.txt")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
