// argocd-health runs Argo CD's own health-script code (github.com/argoproj/argo-cd/v3/util/lua, with the
// standard libraries off, as the application controller runs a script from argocd-cm) on every case of a
// resource_customizations folder's health_test.yaml, as Argo CD's util/lua/health_test.go does, and prints
// each case's inputPath and computed health as one JSON line. tests/unit/test_argocd_health.py compares them
// with the file.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/argoproj/argo-cd/v3/util/lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

type testFile struct {
	Tests []struct {
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

func main() {
	if len(os.Args) != 2 {
		fail(fmt.Errorf("usage: argocd-health RESOURCE_CUSTOMIZATION_FOLDER"))
	}
	folder := os.Args[1]
	script := read(filepath.Join(folder, "health.lua"))
	var tests testFile
	if err := yaml.Unmarshal(read(filepath.Join(folder, "health_test.yaml")), &tests); err != nil {
		fail(err)
	}
	vm := lua.VM{UseOpenLibs: false}
	for _, test := range tests.Tests {
		obj := map[string]any{}
		if err := yaml.Unmarshal(read(filepath.Join(folder, test.InputPath)), &obj); err != nil {
			fail(err)
		}
		health, err := vm.ExecuteHealthLua(&unstructured.Unstructured{Object: obj}, string(script))
		if err != nil {
			fail(fmt.Errorf("%s: %w", test.InputPath, err))
		}
		line, err := json.Marshal(map[string]any{"inputPath": test.InputPath, "healthStatus": health})
		if err != nil {
			fail(err)
		}
		fmt.Println(string(line))
	}
}

func read(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	return data
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
