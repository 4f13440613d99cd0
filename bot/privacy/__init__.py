"""Personal data lifecycle: erasure, retention and export (issue 16, README "Personal data")."""
