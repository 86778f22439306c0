"""Several processes or real servers together: the FHIR server, the bundle, an X server, TLS."""
