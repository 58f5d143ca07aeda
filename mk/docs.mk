# SPDX-License-Identifier: MIT
# Generated documentation: the login state machine's picture.

.PHONY: docs
# docs writes docs/state-machine.dot from the login machine's transition table (a test
# keeps the committed file in step), and the SVG where Graphviz is installed.
docs:
	$(GO) test -count=1 -run '^TestGraph_MatchesCommittedPicture$$' ./host/login -update-graph
	@if command -v dot >/dev/null; then dot -Tsvg docs/state-machine.dot -o docs/state-machine.svg && echo "wrote docs/state-machine.svg"; fi
