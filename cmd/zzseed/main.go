package main

import (
	"context"
	"os"
	"strconv"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
)

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	st, err := store.Open(context.Background(), os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := dataset.BenchmarkScaled(context.Background(), st, n); err != nil {
		panic(err)
	}
	st.Close()
}
