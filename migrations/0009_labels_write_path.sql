-- The labels write path at import volume (issue 13): labels_route_received_at_idx (route,
-- received_at) goes. No query reads labels by route (compare(), the evidence gates, coverage and
-- delivery all join labels on request_id, the primary key, and delivery scans (txid, seq)), and
-- since 0008 the gateway writes labels with route NULL, so the index only cost every insert
-- about a quarter of its time.
DROP INDEX IF EXISTS shadowgate.labels_route_received_at_idx;
