"""What the tests share: real servers on loopback (FHIR, PostgreSQL, a SMART token
endpoint), the fixture practice day, and ways to touch a Qt window as a person would."""
