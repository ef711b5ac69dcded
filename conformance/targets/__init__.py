"""What a conformance machine talks to."""
