// runc's own cgroup manager (libcontainer/cgroups, Debian's golang-github-opencontainers-runc-dev)
// doing what bench/cgroups.mjs times for berth: create the cgroup, apply the same limits,
// destroy it, N times in one warm process. Prints the per-container times in ms, one a line.
// Built by bench/cgroups.mjs (GOPATH mode against /usr/share/gocode).
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/opencontainers/runc/libcontainer/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/devices"
	"github.com/opencontainers/runc/libcontainer/specconv"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	withDevices := len(os.Args) > 2 && os.Args[2] == "devices"
	const mib = 1024 * 1024
	for i := 0; i < n; i++ {
		t0 := time.Now()
		r := &configs.Resources{
			Memory: 64 * mib, MemorySwap: 64 * mib,
			CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000,
			PidsLimit:   100,
			SkipDevices: !withDevices,
		}
		if withDevices {
			rules := []*devices.Rule{}
			for _, d := range specconv.AllowedDevices {
				rules = append(rules, &d.Rule)
			}
			r.Devices = append([]*devices.Rule{{Type: devices.WildcardDevice, Major: -1, Minor: -1, Permissions: "rwm", Allow: false}}, rules...)
		}
		c := &configs.Cgroup{Path: fmt.Sprintf("/berth/bench-runc-%d-%d", os.Getpid(), i), Resources: r}
		m, err := manager.New(c)
		if err == nil {
			err = m.Apply(-1)
		}
		if err == nil {
			err = m.Set(r)
		}
		if err == nil {
			err = m.Destroy()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(float64(time.Since(t0).Nanoseconds()) / 1e6)
	}
}
