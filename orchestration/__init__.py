"""campaign-analytics: an open warehouse for CPaaS voice and SMS campaign analytics."""
