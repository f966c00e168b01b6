module github.com/taudb/tau

go 1.26.8
