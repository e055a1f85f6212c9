# Samsa: every target builds what it needs first. See README.md.
SHELL := /bin/bash
NODE ?= node
SAMSA := $(NODE) bin/samsa.js
PORT ?= 2181
ID ?= 1
N ?= 3
# Where `make cluster` and friends put things (scripts/cluster.sh reads these; override to run a second cluster).
COORDINATOR_PORT ?= $(PORT)
PORT_BASE ?= 9091
RUN_DIR ?= ./run
DATA_DIR ?= ./data
METRICS_PORT ?= 7181
CONSOLE_PORT ?= 8080
COORDINATORS ?= 1
REDIS_PORT ?= 6379
export COORDINATOR_PORT PORT_BASE RUN_DIR DATA_DIR METRICS_PORT CONSOLE_PORT COORDINATORS REDIS_PORT
# COORDINATOR_AUTH=user:password: the brokers present these credentials and lock the znodes they
# create (writable by them only, readable by all; README "Access control"). Passed in the
# environment, not on the command line, so the password does not show in `ps`. Unset: open.
COORDINATOR_AUTH ?=
ifneq ($(COORDINATOR_AUTH),)
export SAMSA_COORDINATOR_AUTH := $(COORDINATOR_AUTH)
endif

.PHONY: help deps build test test-unit test-integration coordinator cluster console broker crash-coordinator pause-coordinator resume-coordinator restart-coordinator brokers crash pause resume restart stop status bench bench-idle bench-coordinator bench-failover bench-groups bench-observed chaos clean

help:
	@echo "make coordinator        run the coordinator in the foreground (ws://127.0.0.1:$(PORT), data in ./data/coordinator)"
	@echo "make cluster            coordinator + 3 brokers (ids 1..3 on 9092..9094) + the web console (http://127.0.0.1:8080) in the background; pids/logs in ./run"
	@echo "make console            the web console in the foreground (CONSOLE_PORT, default 8080), against the running cluster"
	@echo "make broker ID=1        one broker in the foreground (against a running coordinator)"
	@echo "make brokers N=5        N brokers in the background"
	@echo "make crash ID=2         SIGKILL broker 2"
	@echo "make cluster COORDINATORS=3   a local redis-server + 3 coordinators on it (one active, two standby; 2181..2183) + 3 brokers given all three"
	@echo "make crash-coordinator ID=1   SIGKILL coordinator 1 of the ensemble (pause-/resume-/restart-coordinator too)"
	@echo "make pause ID=3         SIGSTOP broker 3 (it stops answering; its session expires);  make resume ID=3: SIGCONT"
	@echo "make restart ID=2       stop broker 2 if it runs (SIGTERM, SIGKILL after STOP_TIMEOUT_S), start it again, wait until ready"
	@echo "make stop               brokers one at a time (SIGTERM: controlled shutdown; paused ones resumed first), the coordinator last"
	@echo "make status             each process: running, paused or dead"
	@echo "make test               install dependencies, build, run every test"
	@echo "make bench              brokers against NATS JetStream (produce, consume, end-to-end latency)"
	@echo "make bench-idle         a broker's memory with 50 idle long-polling consumers over 10 minutes"
	@echo "make bench-coordinator  benchmark the coordinator against Apache ZooKeeper"
	@echo "make bench-groups       consumer groups: a kafkajs group of 3 reading with auto-commit, rebalance times (join/leave/crash)"
	@echo "make bench-observed     produce/consume plain vs. observed (/metrics scraped every second, the console open in Chromium), alternating; observed/plain"
	@echo "make bench-failover     failover time: SIGKILL a partition leader, first acks=all produce on the new leader (20 kills)"
	@echo "make chaos              seeded faults against a private 5-broker cluster under acks=all load, then a verifier (SECONDS=600 SEED=… BROKERS=5)"
	@echo "variables: PORT/COORDINATOR_PORT (2181), PORT_BASE (9091: broker ID listens on PORT_BASE+ID), RUN_DIR (./run), DATA_DIR (./data), METRICS_PORT (7181; 0 = any),"
	@echo "           CONSOLE_PORT (8080; 0 = any, -1 = make cluster starts no console),"
	@echo "           READY_TIMEOUT_S (30), STOP_TIMEOUT_S (30, per process),"
	@echo "           COORDINATOR_AUTH (user:password: brokers authenticate and make the cluster's znodes writable by them only; unset = open)"

deps:
	@bash scripts/ensure-deps.sh

build: deps
	@npx tsc -p tsconfig.json
	@npx tsc -p console/web/tsconfig.json

test: build
	@bash scripts/ensure-deps.sh kcat chromium redis-server
	npx jest --ci

test-unit: build
	npx jest --ci test/unit

test-integration: build
	npx jest --ci --runInBand test/integration

coordinator: build
	$(SAMSA) coordinator --port $(COORDINATOR_PORT) --metrics-port $(METRICS_PORT) --data-dir $(DATA_DIR)/coordinator

cluster: build
	@bash scripts/cluster.sh up 3

console: build
	SAMSA_LOG_PRETTY=$${SAMSA_LOG_PRETTY:-true} $(SAMSA) console --port $(CONSOLE_PORT) --coordinator ws://127.0.0.1:$(COORDINATOR_PORT) --bootstrap 127.0.0.1:$$(( $(PORT_BASE) + 1 ))

broker: build
	SAMSA_LOG_PRETTY=$${SAMSA_LOG_PRETTY:-true} $(NODE) $$($(NODE) -p "require('./dist/shared/node-flags').BROKER_NODE_FLAGS.join(' ')") bin/samsa.js broker --id $(ID) --port $$(( $(PORT_BASE) + $(ID) )) --coordinator ws://127.0.0.1:$(COORDINATOR_PORT) --data-dir $(DATA_DIR)/broker-$(ID)

brokers: build
	@bash scripts/cluster.sh brokers $(N)

crash:
	@bash scripts/cluster.sh crash $(ID)

crash-coordinator:
	@bash scripts/cluster.sh crash-coordinator $(ID)

pause-coordinator:
	@bash scripts/cluster.sh pause-coordinator $(ID)

resume-coordinator:
	@bash scripts/cluster.sh resume-coordinator $(ID)

restart-coordinator: build
	@bash scripts/cluster.sh restart-coordinator $(ID)

pause:
	@bash scripts/cluster.sh pause $(ID)

resume:
	@bash scripts/cluster.sh resume $(ID)

restart: build
	@bash scripts/cluster.sh restart $(ID)

stop:
	@bash scripts/cluster.sh stop

status:
	@bash scripts/cluster.sh status

bench: build
	@bash scripts/ensure-deps.sh nats-server
	$(NODE) dist/scripts/bench.js

# 50 idle long-polling consumers against one broker for 10 minutes; prints its heap after GC (CONSUMERS, DURATION_S, SAMPLE_S, SAMSA_DIST).
bench-idle: build
	$(NODE) --expose-gc dist/scripts/bench-idle.js

bench-coordinator: build
	@bash scripts/ensure-deps.sh zookeeper
	$(NODE) dist/scripts/bench-coordinator.js

# SIGKILL of a partition leader → first acknowledged acks=all produce on the new leader, p50/p99 over 20 kills (BENCH_FAILOVER_KILLS).
bench-failover: build
	$(NODE) dist/scripts/bench-failover.js

# Consumer groups alone (also part of make bench): records/s of a kafkajs group of 3, rebalance p50/p99 over 20 rounds.
bench-groups: build
	$(NODE) dist/scripts/bench-groups.js

# The issue's "metrics and console must not slow the data path": Samsa's produce and consume (codec client, RF 1 and 3,
# acks=all at RF 3), each round plain and observed (scripts/bench-observer.ts), BENCH_REPEAT rounds; prints medians and
# observed/plain. Longer runs than make bench's so that several scrapes fall in each. Same knobs as make bench
# (BENCH_RF, BENCH_SIZES, BENCH_ACKS, BENCH_PRODUCERS, BENCH_RECORDS...; BENCH_OBSERVER=scrape,console,browser).
bench-observed: build
	@bash scripts/ensure-deps.sh chromium
	BENCH_SYSTEMS=samsa BENCH_WORKLOADS=produce,consume BENCH_OBSERVED=1 BENCH_PRODUCERS=$${BENCH_PRODUCERS:-codec} BENCH_ACKS=$${BENCH_ACKS:-all} \
	  BENCH_REPEAT=$${BENCH_REPEAT:-5} BENCH_RECORDS=$${BENCH_RECORDS:-5000000} BENCH_RECORDS_1K=$${BENCH_RECORDS_1K:-500000} $(NODE) dist/scripts/bench.js

# Seeded fault run + verifier (scripts/chaos.ts); exits non-zero on any lost or divergent record. More settings: scripts/chaos/options.ts.
chaos: build
	$(NODE) dist/scripts/chaos.js $(if $(SECONDS),--seconds $(SECONDS)) $(if $(SEED),--seed $(SEED)) $(if $(BROKERS),--brokers $(BROKERS))

clean:
	rm -rf dist run
