-- workload.sql — run by SQLite's shell (sqlite3.exe) of both builds under Wine on :memory:;
-- the test requires the same output from both and checks a few lines against values computed by hand.
-- Every result is ordered, so the output is deterministic.
.bail on
.headers off
.mode list

-- tables and indexes
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, val INTEGER NOT NULL, name TEXT NOT NULL);
CREATE INDEX t_grp_val ON t(grp, val);
CREATE UNIQUE INDEX t_name ON t(name);
CREATE TABLE g(grp INTEGER PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE log(n INTEGER PRIMARY KEY, doc TEXT NOT NULL);

-- 100,000 rows in one transaction (val = 7x mod 1000: every residue 100 times)
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t(id, grp, val, name) SELECT x, x % 10, (x * 7) % 1000, 'n' || x FROM c;
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 9)
INSERT INTO g SELECT x, 'group-' || x FROM c;
COMMIT;

-- another 100,000 in two transactions, JSON documents
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
INSERT INTO log SELECT x, json_object('k', x % 7, 'tags', json_array('a', x % 3)) FROM c;
COMMIT;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 50001 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO log SELECT x, json_object('k', x % 7, 'tags', json_array('a', x % 3)) FROM c;
COMMIT;

SELECT 'count', count(*) FROM t;
SELECT 'sums', sum(id), sum(val), min(val), max(val) FROM t;
SELECT 'avg', printf('%.3f', avg(val)) FROM t;
SELECT 'log', count(*), sum(json_extract(doc, '$.k')) FROM log;

-- aggregates through the index and a join
SELECT 'grp', grp, count(*), sum(id) FROM t GROUP BY grp ORDER BY grp;
SELECT 'label', label, count(*) FROM t JOIN g USING (grp) WHERE val < 10 GROUP BY label ORDER BY label;
SELECT 'having', grp, max(val) FROM t GROUP BY grp HAVING grp % 5 = 0 ORDER BY grp;
SELECT 'distinct', count(DISTINCT val) FROM t;
SELECT 'name', id FROM t WHERE name = 'n77777';

-- window functions
SELECT 'win', id, val, sum(val) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
       row_number() OVER (PARTITION BY id % 2 ORDER BY id), lag(val, 1, -1) OVER (ORDER BY id)
  FROM t WHERE id <= 6 ORDER BY id;
SELECT 'rank', id, val, rank() OVER (ORDER BY val DESC), dense_rank() OVER (ORDER BY val % 3)
  FROM t WHERE id BETWEEN 140 AND 145 ORDER BY id;
SELECT 'total', grp, total FROM (SELECT grp, sum(val) OVER (PARTITION BY grp) AS total,
       row_number() OVER (PARTITION BY grp) AS rn FROM t) WHERE rn = 1 ORDER BY grp;

-- JSON functions
SELECT 'json', json_object('n', count(*), 'max', max(val)) FROM t;
SELECT 'jarr', json_group_array(id) FROM (SELECT id FROM t WHERE val = 0 ORDER BY id LIMIT 5);
SELECT 'jtags', json_extract(doc, '$.tags[1]'), json_array_length(doc, '$.tags') FROM log WHERE n = 5;
SELECT 'jeach', key, value FROM json_each('{"a":1,"b":[2,3],"c":"x"}') ORDER BY key;
SELECT 'jk', json_extract(doc, '$.k') AS k, count(*) FROM log GROUP BY k ORDER BY k;

-- a rollback, and a savepoint rolled back to
BEGIN;
DELETE FROM t WHERE grp = 3;
UPDATE t SET val = val + 1000 WHERE grp = 4;
SELECT 'during', count(*), sum(val) FROM t;
ROLLBACK;
SELECT 'after rollback', count(*), sum(val) FROM t;
BEGIN;
SAVEPOINT s1;
DELETE FROM t WHERE id > 50000;
ROLLBACK TO s1;
DELETE FROM t WHERE id > 99990;
COMMIT;
SELECT 'after savepoint', count(*), max(id) FROM t;

-- text and arithmetic
SELECT 'text', upper(name), length(name), substr(name, 2), replace(name, '1', 'one') FROM t WHERE id = 12341;
SELECT 'math', 7 / 2, 7 % 3, 7.0 / 2, round(2.675, 2), abs(-42), 1 << 40, cast('123abc' AS INTEGER);
SELECT 'done';
