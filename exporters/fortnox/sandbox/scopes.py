"""The OAuth scopes Fortnox knows."""

#: Every scope Fortnox knows (FACTS.md section 1); all grant read and write.
KNOWN_SCOPES = frozenset(
    {
        "companyinformation", "bookkeeping", "costcenter", "settings", "invoice", "order", "offer",
        "customer", "article", "supplier", "supplierinvoice", "payment", "project", "price", "print",
        "currency", "archive", "inbox", "connectfile", "salary", "noxfinansinvoice", "profile",
        "timereporting",
    }
)  # fmt: skip
