# Included by every Makefile: each KEY=value of the repository's facts.env becomes a make
# variable, unless the environment or the command line already sets it (`?=`).
#   include $(dir $(lastword $(MAKEFILE_LIST)))../scripts/facts.mk   (path relative to the includer)
ADP_REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
ADP_FACTS := $(shell grep -E '^[A-Z_][A-Z0-9_]*=' $(ADP_REPO)/facts.env)
$(if $(ADP_FACTS),,$(error $(ADP_REPO)/facts.env is missing or empty; restore it from git))
$(foreach kv,$(ADP_FACTS),$(eval $(firstword $(subst =, ,$(kv))) ?= $(patsubst $(firstword $(subst =, ,$(kv)))=%,%,$(kv))))
