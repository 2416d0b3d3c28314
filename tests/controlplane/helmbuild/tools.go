//go:build tools

// The binary built from this module; the blank import keeps `go mod tidy` from dropping it.
package helmbuild

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
