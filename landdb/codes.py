"""Code lists of the data model, without imports: the models' check constraints, the loaders and
the CLI's choices all read them from here."""

#: Flood-risk classes of a parcel or zone, from lowest to highest.
RISK_CLASSES = ("low", "medium", "high", "very_high")
#: Roles of API users: an officer lodges and checks applications, a registrar approves and
#: registers them too, an admin may do everything.
ROLES = ("officer", "registrar", "admin")
#: Every role sees the register's personal data; these also approve and register applications.
REGISTRAR_ROLES = ("registrar", "admin")
#: The registry's services (the kinds of application).
SERVICES = ("split", "merge", "transfer", "mortgage", "mortgage_cancellation", "boundary_correction")
#: An application's states: lodged → approved → registered, or rejected / cancelled / withdrawn.
APPLICATION_STATES = ("lodged", "approved", "registered", "rejected", "cancelled", "withdrawn")
#: Kinds of source documents (LADM LA_Source).
SOURCE_KINDS = ("application_form", "cadastral_survey", "contract", "gift_deed", "inheritance_record",
                "court_decision", "mortgage_contract", "mortgage_release", "id_document", "certificate", "other")
#: Documents the registry issues.
DOCUMENT_KINDS = ("certificate_data", "map_extract", "flood_statement")
