import { loadCatalog } from '../src/contracts/catalog.ts';
import { renderTypes } from '../src/contracts/codegen.ts';
process.stdout.write(renderTypes(loadCatalog('.tmp-scratch/cg')));
