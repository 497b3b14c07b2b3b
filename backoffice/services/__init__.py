"""Services: the BackOffice's operations. Each takes a session and never commits; the view or job that
calls it owns the transaction."""
