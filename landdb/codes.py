"""Code lists of the data model, without imports: the models' check constraints, the loaders and
the CLI's choices all read them from here."""

#: Flood-risk classes of a parcel or zone, from lowest to highest.
RISK_CLASSES = ("low", "medium", "high", "very_high")
#: Roles of API users (an admin may do what an officer may).
ROLES = ("officer", "admin")
