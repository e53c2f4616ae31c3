//go:build tools

// Package tools pins the Logstash config grammar checker (mustache) for
// scripts/engines/mustache.sh. The script runs `go build` from this module because
// `go install pkg@version` needs the module's version list, which the module proxy
// reachable here does not serve for logstash-config (only v0.5.3 itself).
package tools

import _ "github.com/breml/logstash-config/cmd/mustache"
