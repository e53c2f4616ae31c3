// Command validate-server-json checks server.json files with the MCP registry's own validator
// (github.com/modelcontextprotocol/registry/internal/validators): the JSON Schema named by
// $schema, embedded in the registry at the pinned version, plus the registry's semantic rules
// (name format, exact versions, argument and transport fields). It is the offline half of what
// `mcp-publisher publish` asks the registry to check; the other half (the npm package's mcpName)
// needs the package to be published.
//
// scripts/engines/mcp-registry.sh copies this file into the registry module's source tree and
// builds it there, since Go lets only that module import its internal packages.
//
// Usage: validate-server-json FILE...   One JSON line per file on stdout:
// {"file":..., "valid":bool, "issues":[{type,path,message,severity,reference}]}.
// Exit 0 when every file is valid, 1 when one is not, 2 when one cannot be read or parsed.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/modelcontextprotocol/registry/internal/validators"
	apiv0 "github.com/modelcontextprotocol/registry/pkg/api/v0"
)

type report struct {
	File   string                       `json:"file"`
	Valid  bool                         `json:"valid"`
	Error  string                       `json:"error,omitempty"`
	Issues []validators.ValidationIssue `json:"issues"`
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "--help" || os.Args[1] == "-h" {
		fmt.Fprintln(os.Stderr, "usage: validate-server-json FILE...  (one JSON report line per file on stdout)")
		os.Exit(2)
	}
	exit := 0
	out := json.NewEncoder(os.Stdout)
	for _, file := range os.Args[1:] {
		r := check(file)
		if r.Error != "" {
			exit = 2
		} else if !r.Valid && exit == 0 {
			exit = 1
		}
		_ = out.Encode(r)
	}
	os.Exit(exit)
}

func check(file string) report {
	r := report{File: file, Issues: []validators.ValidationIssue{}}
	data, err := os.ReadFile(file)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	var server apiv0.ServerJSON
	if err := json.Unmarshal(data, &server); err != nil {
		r.Error = "not a server.json: " + err.Error()
		return r
	}
	// What publishing demands: full schema validation, semantic rules, and a schema version the
	// registry still accepts for new servers (an outdated $schema is an error, not a warning).
	opts := validators.ValidationOptions{
		ValidateSchema:         true,
		ValidateSemantic:       true,
		NonCurrentSchemaPolicy: validators.SchemaVersionPolicyError,
	}
	result := validators.ValidateServerJSON(&server, opts)
	r.Valid = result.Valid
	r.Issues = append(r.Issues, result.Issues...)
	return r
}
