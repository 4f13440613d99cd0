"""Custom actions, one module per capability; rasa-sdk registers every Action it imports."""
