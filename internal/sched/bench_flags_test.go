package sched_test

import "flag"

var memFlag = flag.Bool("bench-memory", false, "measure the memory of a 1M-job pass")
