"""The case register: integration clients' cases, linking a chat to a case, the audit log."""
