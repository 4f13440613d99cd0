"""Natural language generation: every `utter_*` rendered from data/content/<lang>/."""
