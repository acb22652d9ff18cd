"""Status callbacks pushed by the provider: what each endpoint accepts (`payloads`), the durable
landing log they are written to before the 200 (`landing`), and the receiver that serves them
(`receiver`). Loading landed callbacks into the warehouse is a Dagster asset
(`defs/callbacks`)."""
