package db_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// A function that holds a transaction (a *sql.Tx or db.Querier parameter)
// must do its reads through it. A call that takes ctx but not the
// transaction may take a second connection from the pool while the
// transaction holds one; on PostgreSQL, as many such transactions at once
// as the pool has connections then wait for each other for ever (staff
// alerts did, under eight closing events of one dispute).
//
// This test lists such calls in comptoir's packages. It reads the source,
// so it cannot tell a harmless call (one that never touches the database)
// from a harmful one: add a harmless one to poolFree with the reason.
// COMPTOIR_TEST_PG_POOL=1 catches at run time what this misses (a call
// through a function value, a Tx-holding helper without ctx).
var poolFree = map[string]string{
	"web/idempotency.go s.orderJSON":   "formats the order it is given; ctx unused",
	"orders/place.go db.FlushingReads": "derives a context; no database",
}

func TestNoTransactionWaitsForASecondConnection(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		ast.Inspect(f, func(n ast.Node) bool {
			var ft *ast.FuncType
			var body *ast.BlockStmt
			switch fn := n.(type) {
			case *ast.FuncDecl:
				ft, body = fn.Type, fn.Body
			case *ast.FuncLit:
				ft, body = fn.Type, fn.Body
			default:
				return true
			}
			txNames := transactionParams(ft)
			if body == nil || len(txNames) == 0 {
				return true
			}
			ast.Inspect(body, func(m ast.Node) bool {
				if _, ok := m.(*ast.FuncLit); ok {
					return false // inspected on its own, with its own parameters
				}
				call, ok := m.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 || !isIdent(call.Args[0], "ctx") {
					return true
				}
				fun, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || strings.HasSuffix(fun.Sel.Name, "Context") {
					return true // tx.ExecContext and the like
				}
				for _, a := range call.Args {
					for name := range txNames {
						if isIdent(a, name) {
							return true
						}
					}
				}
				key := filepath.ToSlash(rel) + " " + exprString(fun)
				if _, ok := poolFree[key]; !ok {
					found = append(found, fset.Position(call.Pos()).String()+": "+exprString(fun)+"(ctx, …) without the transaction")
				}
				return true
			})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// transactionParams names ft's parameters that hold a transaction.
func transactionParams(ft *ast.FuncType) map[string]bool {
	names := map[string]bool{}
	if ft.Params == nil {
		return names
	}
	for _, p := range ft.Params.List {
		typ := p.Type
		if star, ok := typ.(*ast.StarExpr); ok {
			typ = star.X
		}
		sel, ok := typ.(*ast.SelectorExpr)
		if !ok || !(sel.Sel.Name == "Tx" && isIdent(sel.X, "sql") || sel.Sel.Name == "Querier" && isIdent(sel.X, "db")) {
			continue
		}
		for _, n := range p.Names {
			names[n.Name] = true
		}
	}
	return names
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.Ident:
		return x.Name
	}
	return "…"
}
