"""Task definitions that the bundled models are trained on and verifiers check."""
