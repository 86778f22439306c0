"""Schedule sync with the practice system over HL7 FHIR R4.

* :mod:`kiosk.sync.client`: HTTP with timeouts, TLS, auth, and errors sorted into "try again
  later" (:class:`Unavailable`), "refused" (:class:`Refused`) and "not FHIR" (:class:`BadAnswer`);
* :mod:`kiosk.sync.pull`: today's and tomorrow's appointments for the site's locations, with the
  patients and practitioners they reference, into the database;
* :mod:`kiosk.sync.outbox`: check-ins written back (Appointment.status = arrived) from a durable
  outbox, with If-Match, retries and parking;
* :mod:`kiosk.sync.worker`: one pass, or a loop, under a per-site lease.
"""
