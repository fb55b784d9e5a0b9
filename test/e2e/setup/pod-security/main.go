// pod-security reads one Pod as JSON on standard input and prints, for the Pod Security levels
// baseline and restricted, the checks it fails, as Kubernetes' own admission library
// (k8s.io/pod-security-admission) evaluates them at the latest policy version. The tests use it
// to show that the namespace a component labels admits its pods at the lowest level they pass.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

func main() {
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields()
	var pod corev1.Pod
	if err := decoder.Decode(&pod); err != nil {
		fmt.Fprintln(os.Stderr, "pod-security: unreadable pod:", err)
		os.Exit(2)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pod-security:", err)
		os.Exit(2)
	}
	failures := map[string][]string{}
	for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
		failures[string(level)] = []string{}
		for _, result := range evaluator.EvaluatePod(api.LevelVersion{Level: level, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
			if !result.Allowed {
				failures[string(level)] = append(failures[string(level)], result.ForbiddenReason+": "+result.ForbiddenDetail)
			}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(failures); err != nil {
		os.Exit(2)
	}
}
