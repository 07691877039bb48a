import { runKgssl } from '../../kgssl';
import { runner, type MethodDefinition } from '../../method';
import { kgsslOptions } from './options';

/**
 * KGSSL (Ghosh et al., KDD 2022): basin embeddings learned from forcing–streamflow windows of many
 * basins (reconstruction, knowledge-guided contrastive and attribute-regression losses), then
 * imputation, basin distances, noisy-attribute comparison and GR4J parameter transfer (kgssl/).
 */
export const kgsslMethod: MethodDefinition = {
  description:
    'KGSSL basin embeddings from forcing–streamflow pairs across basins (Ghosh et al. 2022): imputation, distances, parameter transfer',
  resumable: true,
  problems: { basins: runner({ options: kgsslOptions, run: runKgssl }) },
};
