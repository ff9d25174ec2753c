-- Cases found by a worker's or a deported person's passport or ID number (issue 12, point
-- 6): `tulay deportation add --help` promised that a person's ID number is "findable by
-- exact match", and only claims were. Every blind index of an ID number a case holds, of
-- every kind, in one place: the claim's worker, its co-workers, the deported person. The
-- indexes are keyed hashes (tulayd's vault), per organisation, so only equal numbers in
-- the same organisation meet; each table's (org_id, index) index serves the lookup.
CREATE VIEW case_id_numbers WITH (security_invoker = true) AS
SELECT w.org_id, w.case_id, w.worker_id_number_index AS id_index
  FROM wage_theft_claims w WHERE w.worker_id_number_index IS NOT NULL
UNION ALL
SELECT cw.org_id, cw.case_id, cw.id_number_index
  FROM claim_workers cw WHERE cw.id_number_index IS NOT NULL
UNION ALL
SELECT d.org_id, d.case_id, d.person_id_number_index
  FROM deportations d WHERE d.person_id_number_index IS NOT NULL;
GRANT SELECT ON case_id_numbers TO tulay_app;
