# Samsa: every target builds what it needs first. See README.md.
SHELL := /bin/bash
NODE ?= node
SAMSA := $(NODE) bin/samsa.js
PORT ?= 2181
ID ?= 1
N ?= 3

.PHONY: help deps build test test-unit test-integration coordinator bench-coordinator clean

help:
	@echo "make coordinator        run the coordinator in the foreground (ws://127.0.0.1:$(PORT), data in ./data/coordinator)"
	@echo "make test               install dependencies, build, run every test"
	@echo "make bench-coordinator  benchmark the coordinator against Apache ZooKeeper"

deps:
	@bash scripts/ensure-deps.sh

build: deps
	@npx tsc -p tsconfig.json

test: build
	@bash scripts/ensure-deps.sh kcat
	npx jest --ci

test-unit: build
	npx jest --ci test/unit

test-integration: build
	npx jest --ci --runInBand test/integration

coordinator: build
	$(SAMSA) coordinator --port $(PORT) --data-dir ./data/coordinator

bench-coordinator: build
	$(NODE) dist/scripts/bench-coordinator.js

clean:
	rm -rf dist run
