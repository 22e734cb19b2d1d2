# Included by every Makefile: `make help` (the default goal) lists each `target: ## text`.
.DEFAULT_GOAL := help
.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'
